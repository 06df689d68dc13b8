"""The pygame board (`gonet play`); nothing in the gonet package imports it."""
