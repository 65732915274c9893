"""Polar's entity list endpoints: orders, subscriptions, customers, products, refunds."""
