# Encoders and outputs of probed/export (included from tests/unit/CMakeLists.txt).
add_executable(test_encode ${CMAKE_CURRENT_LIST_DIR}/test_encode.c)
target_link_libraries(test_encode PRIVATE sled_export)
add_test(NAME unit.encode COMMAND test_encode)

add_executable(test_output ${CMAKE_CURRENT_LIST_DIR}/test_output.c)
target_link_libraries(test_output PRIVATE sled_export)
add_test(NAME unit.output COMMAND test_output)

add_executable(test_encode_msgpack ${CMAKE_CURRENT_LIST_DIR}/test_encode_msgpack.c)
target_link_libraries(test_encode_msgpack PRIVATE sled_export)
add_test(NAME unit.encode_msgpack COMMAND test_encode_msgpack)
