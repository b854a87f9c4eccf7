# The two commands of the README's quick start:
#   make demo   installs what the demo needs and runs it (CRM on :5000, Xero emulator on :5055)
#   make test   installs what the tests need and runs lint, type checks and the whole suite
.PHONY: demo test bootstrap lint

bootstrap:
	scripts/bootstrap.sh

demo: bootstrap
	.venv/bin/python demo_app.py $(DEMO_ARGS)

lint: bootstrap
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy

test: bootstrap lint
	scripts/install_chromium.sh
	.venv/bin/pytest $(PYTEST_ARGS)
