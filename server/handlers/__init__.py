"""HTTP handlers, one module per area of the API the official client uses."""
