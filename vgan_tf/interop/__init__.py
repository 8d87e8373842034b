"""Interop with other frameworks' files: the released Torch7 VideoGAN networks.

`t7` reads Torch7's binary serialisation format as data; `torch7` matches the module
tree against the original network and maps its weights onto the Keras models.
"""
