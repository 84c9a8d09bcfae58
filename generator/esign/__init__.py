"""esign."""
