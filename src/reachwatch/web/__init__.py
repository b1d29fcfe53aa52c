"""The web app: the analyst's pages and the REST API, thin shells over the service layer."""
