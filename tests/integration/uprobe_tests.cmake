# Uprobe mode (probed/bpf + probed/daemon/uprobe/uprobe.c) against real processes, with a
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

# Probe functions (--filter, --sample, --rate, --count-only) in uprobe mode, through
# probed and probectl; the filter table is checked against sled mode on the same process.
add_test(NAME integration.uprobe_functions
  COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/uprobe_functions.py ${CMAKE_BINARY_DIR})
set_tests_properties(integration.uprobe_functions PROPERTIES
  TIMEOUT 120 RUN_SERIAL TRUE LABELS root SKIP_REGULAR_EXPRESSION "SKIP: uprobe mode needs root")

# Uprobe mode without tracefs mounted (probed mounts it) and without uprobes at all (one
# clear error, sled mode unaffected), each simulated in a private mount namespace.
add_test(NAME integration.uprobe_tracefs
  COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/uprobe_tracefs.py ${CMAKE_BINARY_DIR})
set_tests_properties(integration.uprobe_tracefs PROPERTIES
  TIMEOUT 60 RUN_SERIAL TRUE LABELS root SKIP_REGULAR_EXPRESSION "SKIP: ")

# Uprobe mode at scale: 300 tracepoints, 40 processes, one enable -b; RLIMIT_NOFILE
# raised and reported, every process traced, fds given back.
add_test(NAME integration.uprobe_scale
  COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/uprobe_scale.py ${CMAKE_BINARY_DIR}
          ${CMAKE_C_COMPILER} ${PROJECT_SOURCE_DIR}/include)
set_tests_properties(integration.uprobe_scale PROPERTIES
  TIMEOUT 120 RUN_SERIAL TRUE LABELS root SKIP_REGULAR_EXPRESSION "SKIP: ")

# --mode auto (and --mode uprobe) with no scope: every process, sled mode for those that
# link libsled, per-process uprobes for the others, present and future.  The header-only
# twin of sample_basic has the same tracepoints and the same output, without libsled.
add_executable(sample_basic_plain ${PROJECT_SOURCE_DIR}/samples/sample_basic.c)
target_include_directories(sample_basic_plain PRIVATE ${PROJECT_SOURCE_DIR}/include)
target_compile_options(sample_basic_plain PRIVATE -Wall -Wextra -Werror)
# And a program without libsled that dlopen()s a library (without libsled either) late:
# the no-scope probe must notice the new mapping.
add_library(sample_plugin_plain SHARED ${PROJECT_SOURCE_DIR}/samples/sample_plugin.c)
target_include_directories(sample_plugin_plain PRIVATE ${PROJECT_SOURCE_DIR}/include)
target_compile_options(sample_plugin_plain PRIVATE -Wall -Wextra -Werror)
add_executable(sample_dlopen_plain ${PROJECT_SOURCE_DIR}/samples/sample_dlopen.c)
target_compile_options(sample_dlopen_plain PRIVATE -Wall -Wextra -Werror)
target_link_libraries(sample_dlopen_plain PRIVATE ${CMAKE_DL_LIBS})
add_dependencies(sample_dlopen_plain sample_plugin_plain)
add_test(NAME integration.uprobe_auto_all
  COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/uprobe_auto_all.py ${CMAKE_BINARY_DIR})
set_tests_properties(integration.uprobe_auto_all PROPERTIES
  TIMEOUT 90 RUN_SERIAL TRUE LABELS root SKIP_REGULAR_EXPRESSION "SKIP: ")
