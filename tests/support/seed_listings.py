"""The carts of the seed's conflict story (chapter 6): two concurrent versions of one cart and
Listing 6.7, what Listing 6.6's merge script makes of them. Shared by the script, resolver and
replication tests."""

from unkindness.workloads.cart import LISTING_6_6  # tests/workloads/test_cart.py compares it with the seed

__all__ = ["CART_A", "CART_B", "LISTING_6_6", "LISTING_6_7"]

CART_A = {
    "Name": "Oren Eini",
    "Items": [
        {"ProductId": "products/2134-B", "Quantity": 2, "Name": "Milk"},
        {"ProductId": "products/9231-C", "Quantity": 1, "Name": "Bread"},
    ],
}
CART_B = {
    "Name": "Oren Eini",
    "Items": [
        {"ProductId": "products/2134-B", "Quantity": 1, "Name": "Milk"},
        {"ProductId": "products/8412-B", "Quantity": 2, "Name": "Eggs"},
    ],
}
LISTING_6_7 = {
    "Name": "Oren Eini",
    "Items": [
        {"ProductId": "products/2134-B", "Quantity": 2, "Name": "Milk"},
        {"ProductId": "products/9231-C", "Quantity": 1, "Name": "Bread"},
        {"ProductId": "products/8412-B", "Quantity": 2, "Name": "Eggs"},
    ],
}
