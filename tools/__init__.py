"""What the model can call (milvus_search, fetch_doc) and what they stand on.

gRPC (under pymilvus) reads its logging and fork settings once, when it is first
imported; set here, before any module of the product can import it, its keepalive
"GOAWAY ... too_many_pings" lines never reach users' terminals. agent/ and graphs/
import this package first for the same reason. A value the user set is kept.
"""

import os

os.environ.setdefault("GRPC_VERBOSITY", "NONE")
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "0")
