"""What Polar's read API computes and returns: organizations and metrics."""
