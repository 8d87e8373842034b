"""The video model family: networks.py (Keras networks), family.py (its Family record)."""
