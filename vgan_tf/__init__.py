"""vgan_tf: "Generating Videos with Scene Dynamics" (Vondrick et al., NIPS 2016) in TF/Keras."""
__version__ = "0.1.0"
