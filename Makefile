# The two commands of the README's quick start:
#   make demo       installs what the demo needs and runs it (CRM on :5000, Xero emulator on :5055)
#   make test       installs what the tests need and runs lint, type checks and the whole suite
# and for CI (.ci/run runs both test targets):
#   make test-min   the whole suite again on the OLDEST supported dependencies
#                   (constraints-min.txt, in its own virtualenv .venv-min)
.PHONY: demo test test-min bootstrap bootstrap-min lint

bootstrap:
	scripts/bootstrap.sh

bootstrap-min:
	VENV=.venv-min CONSTRAINTS=constraints-min.txt scripts/bootstrap.sh

demo: bootstrap
	.venv/bin/python demo_app.py $(DEMO_ARGS)

lint: bootstrap
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy

test: bootstrap lint
	scripts/install_chromium.sh
	XP_TEST_CONSTRAINTS=constraints.txt .venv/bin/pytest $(PYTEST_ARGS)

test-min: bootstrap-min
	scripts/install_chromium.sh
	XP_TEST_CONSTRAINTS=constraints-min.txt .venv-min/bin/pytest $(PYTEST_ARGS)
