from common.migrations import run_env
from services.decision.adapters.orm import metadata

run_env(metadata)
