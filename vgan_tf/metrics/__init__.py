"""Measuring videos: I3D features, FVD/KVD, and the synthetic scenes' dynamics scores."""
