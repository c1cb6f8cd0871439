"""One module per input format; see `base.Importer` for the contract."""
