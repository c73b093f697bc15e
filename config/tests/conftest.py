"""The URL walk's fixtures, shared by the config tests that walk pages and actions per role."""

from config.tests.test_security import objects, receptionist  # noqa: F401
