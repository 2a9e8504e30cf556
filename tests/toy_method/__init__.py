"""A toy method that plugs into the registry from outside the package (``GARMENT_TRANSFER_METHODS=toy_method.method``):
one stage with a tiny network, one way to dress a person, one evaluation."""
