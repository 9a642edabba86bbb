"""dfkd_book."""
