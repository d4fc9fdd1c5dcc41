"""What the model can call (milvus_search, fetch_doc) and what they stand on."""
