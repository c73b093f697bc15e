"""The language model tests' server (model_server.py) as a fixture."""

import pytest

from messaging.tests.bot.model_server import ModelServer


@pytest.fixture
def model_server(settings):
    server = ModelServer()
    settings.LLM_BASE_URL = server.url
    settings.LLM_API_KEY = "test-key"
    settings.LLM_MODEL = "test-model"
    settings.LLM_TIMEOUT_SECONDS = 2.0
    settings.LLM_DAILY_BUDGET = 100
    yield server
    server.close()
