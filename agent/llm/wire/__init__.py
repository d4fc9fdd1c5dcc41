"""The wire: requests as each server wants them, replies within their deadline, failures."""
