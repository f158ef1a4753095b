# Uprobe mode (probed/bpf + probed/daemon/uprobe.c) against real processes, with a
# standalone driver; included from tests/integration/CMakeLists.txt.  Needs root (BPF,
# uprobes): without it, or without BPF in the kernel, the test reports itself skipped.
# /usr/bin/python3: the interpreter Debian's packages belong to.
add_executable(uprobe_driver ${CMAKE_CURRENT_LIST_DIR}/uprobe_driver.c)
target_compile_options(uprobe_driver PRIVATE -Wall -Wextra -Werror)
target_link_libraries(uprobe_driver PRIVATE sled_uprobe sled_discovery sled_export)

add_test(NAME integration.uprobe_mode
  COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/uprobe_mode.py
          --driver $<TARGET_FILE:uprobe_driver>
          --sample-basic $<TARGET_FILE:sample_basic>
          --header-only $<TARGET_FILE:header_only_app>
          --dlopen $<TARGET_FILE:sample_dlopen>
          --plugin $<TARGET_FILE:sample_plugin>
          --cc ${CMAKE_C_COMPILER} --include ${PROJECT_SOURCE_DIR}/include)
set_tests_properties(integration.uprobe_mode PROPERTIES
  TIMEOUT 120 RUN_SERIAL TRUE LABELS root SKIP_RETURN_CODE 77)
