"""Pretraining the embedding layer on raw text, and loading its weights back (`init_tok2vec`)."""
