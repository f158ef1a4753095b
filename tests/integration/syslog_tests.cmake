# The syslog exporter against a real rsyslogd that the test starts on loopback ports with
# its own config (included from tests/integration/CMakeLists.txt).  Skipped when rsyslogd
# is not installed (scripts/lib/deps.sh installs it).  /usr/bin/python3: the interpreter
# Debian's python3-msgpack belongs to (the test reuses msgpack_python.py's events).
add_test(NAME integration.syslog
  COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/syslog_export.py ${CMAKE_BINARY_DIR})
set_tests_properties(integration.syslog PROPERTIES TIMEOUT 120 RUN_SERIAL TRUE
  SKIP_REGULAR_EXPRESSION "SKIP: ")

# syslog+tls:// (RFC 5425) against rsyslogd with its OpenSSL stream driver (Debian's
# rsyslog-openssl) and a test CA the test makes with the openssl command: delivery, bad
# options, and the wrong CA / host name / missing client certificate / a plain listener
# each shown in probectl status with nothing sent.  Skipped without those packages.
add_test(NAME integration.syslog_tls
  COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/syslog_tls.py ${CMAKE_BINARY_DIR})
set_tests_properties(integration.syslog_tls PROPERTIES TIMEOUT 120 RUN_SERIAL TRUE
  SKIP_REGULAR_EXPRESSION "SKIP: ")
