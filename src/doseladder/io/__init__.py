"""Reading and writing files: design files, patient tables (the core never imports this)."""
