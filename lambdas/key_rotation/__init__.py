"""Secrets Manager rotation of the node API key (createSecret, setSecret, testSecret, finishSecret)."""
