from common.migrations import run_env
from services.payment_queue.adapters.orm import metadata

run_env(metadata)
