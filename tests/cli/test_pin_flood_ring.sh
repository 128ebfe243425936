#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# test_pin_flood.sh with maps of 256 records: the flood goes through the
# overflow ring, whose drained records are journaled; kill -9 twice in the
# middle, and each alert is in varlog exactly once.
PIN_FLOOD_RING=1 exec bash "$(dirname "$0")/test_pin_flood.sh"
