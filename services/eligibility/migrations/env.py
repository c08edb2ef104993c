from common.migrations import run_env
from services.eligibility.adapters.orm import metadata

run_env(metadata)
