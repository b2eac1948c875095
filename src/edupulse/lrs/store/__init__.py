"""LRS stores: the protocol (``base``) and one module per backend (``sqlite``)."""
