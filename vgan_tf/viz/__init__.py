"""Pictures of videos: grids, GIFs and the sample sets written during training."""
