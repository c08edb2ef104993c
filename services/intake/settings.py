from common.settings import ServiceSettings


class IntakeSettings(ServiceSettings):
    max_body_bytes: int = 64 * 1024
