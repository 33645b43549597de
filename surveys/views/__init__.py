"""Views, one module per topic; access helpers live in surveys.access."""
