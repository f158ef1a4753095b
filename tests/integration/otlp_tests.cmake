# The otlp output (probed/export/output_otlp.c) against otlp_receiver.js, which decodes
# what arrives with the generated protobuf code of the npm package
# @opentelemetry/otlp-transformer (scripts/test.sh installs it: ensure_npm_otlp; without
# node or the package the test prints "SKIP: ..." and counts as skipped).  Drives
# encode_driver, probed and a traced sample on loopback ports: RUN_SERIAL.
add_test(NAME integration.otlp
  COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/otlp_export.py ${CMAKE_BINARY_DIR})
set_tests_properties(integration.otlp PROPERTIES TIMEOUT 180 RUN_SERIAL TRUE
  SKIP_REGULAR_EXPRESSION "SKIP: ")
