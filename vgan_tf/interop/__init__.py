"""Interop with other frameworks' files: the released Torch7 VideoGAN networks.

`t7` reads Torch7's binary serialisation format as data (an untrusted file: every
refusal is one `t7.T7FormatError` line); `torch7` matches the module tree against the
original network and maps its weights onto the Keras models; `options` holds
vgan-import-torch7's settings (`ImportConfig`, no TensorFlow).
"""
