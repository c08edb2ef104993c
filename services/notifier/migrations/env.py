from common.migrations import run_env
from services.notifier.adapters.orm import metadata

run_env(metadata)
