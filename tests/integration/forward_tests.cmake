# The Fluent Forward output (probed/export/output_forward.c) against an independent
# receiver, the FluentServer of the npm package @fluent-org/logger (fluent_server.js);
# included from tests/integration/CMakeLists.txt after encode_tests.cmake (it drives
# encode_driver).  scripts/test.sh installs the package (ensure_npm_fluent); without
# node or the package the test prints "SKIP: ..." and counts as skipped.  It starts
# probed, a traced sample and node receivers on loopback ports: RUN_SERIAL.
add_test(NAME integration.forward
  COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/forward_fluent.py ${CMAKE_BINARY_DIR})
set_tests_properties(integration.forward PROPERTIES TIMEOUT 120 RUN_SERIAL TRUE
  SKIP_REGULAR_EXPRESSION "SKIP: ")
