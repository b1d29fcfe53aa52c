"""What a user can do, as functions: the CLI, web app and API are thin shells over this package."""
