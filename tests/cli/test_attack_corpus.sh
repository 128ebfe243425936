#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The attack corpus (tests/attacks/): every case and benign control against a
# live daemon with the default configuration. Fails below 95% detected or
# when any control alerts. Needs root and BTF: skips (77) otherwise, except
# under CI=true, where it must run.
exec bash "$MIZAN_SOURCE_DIR/tests/attacks/run.sh" --target "${MIZAN_CORPUS_TARGET:-95}"
