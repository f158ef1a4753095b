# Encoders and outputs of probed/export against independent decoders (included from
# tests/integration/CMakeLists.txt).  /usr/bin/python3 is the interpreter Debian's
# python3-msgpack belongs to; a python3 earlier on PATH (pyenv) may lack it.
add_executable(encode_driver ${CMAKE_CURRENT_LIST_DIR}/encode_driver.c)
target_link_libraries(encode_driver PRIVATE sled_export)

add_test(NAME integration.msgpack_python
  COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/msgpack_python.py
          $<TARGET_FILE:encode_driver>)
set_tests_properties(integration.msgpack_python PROPERTIES TIMEOUT 120)

# The socket outputs and their queue: receivers written with python3-msgpack and json.
add_test(NAME integration.export_streams
  COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/export_streams.py
          $<TARGET_FILE:encode_driver>)
set_tests_properties(integration.export_streams PROPERTIES TIMEOUT 120)

# probed -c FILE with network outputs and a real traced app (one receiver never reads).
add_test(NAME integration.export_daemon
  COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/export_daemon.py ${CMAKE_BINARY_DIR})
set_tests_properties(integration.export_daemon PROPERTIES TIMEOUT 120 RUN_SERIAL TRUE)
