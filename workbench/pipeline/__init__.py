"""The pipeline (`nlp`) and its components, one file each."""
