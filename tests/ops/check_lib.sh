# Shared by the ops tests: check NAME EXPECTED GOT, and the summary at exit.
passed=0 failed=0
check() {
	if [[ $2 == "$3" ]]; then
		passed=$((passed + 1))
		echo "ok   $1"
	else
		failed=$((failed + 1))
		echo "FAIL $1: expected '$2', got '$3'"
	fi
}
summary() {
	echo "$passed passed, $failed failed"
	[[ $failed -eq 0 ]]
}
