/*
 * test_container.c - container ids from cgroup paths (aggregator/container.c).
 *
 * The inputs are /proc/<pid>/cgroup texts as each runtime writes them, in
 * cgroup v1 and v2 form; the id is always reported in its 12-hex short form.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "container.h"

#define ID64 "3f4e5d6c7b8a99887766554433221100ffeeddccbbaa00112233445566778899"
#define ID12 "3f4e5d6c7b8a"

static void assert_container(const char *text, const char *expected)
{
    char id[CONTAINER_ID_SIZE] = "unchanged";
    bool found = container_from_cgroup_text(text, strlen(text), id);
    if (expected) {
        if (!found)
            fail_msg("no container found in:\n%s", text);
        assert_string_equal(id, expected);
    } else if (found) {
        fail_msg("found %s in:\n%s", id, text);
    }
}

static void cgroup_v1_forms(void **state)
{
    (void)state;
    assert_container("12:pids:/docker/" ID64 "\n"
                     "11:memory:/docker/" ID64 "\n"
                     "1:name=systemd:/docker/" ID64 "\n",
                     ID12);
    assert_container("4:cpu,cpuacct:/system.slice/docker-" ID64 ".scope\n", ID12);
    assert_container("3:memory:/kubepods/burstable/pod5e0b1c9a-7a3c-4b6e-9f1d-1234567890ab/" ID64
                     "\n",
                     ID12);
    assert_container("2:cpuset:/kubepods.slice/kubepods-besteffort.slice/"
                     "kubepods-besteffort-pod5e0b1c9a_7a3c_4b6e_9f1d_1234567890ab.slice/crio-" ID64
                     ".scope\n",
                     ID12);
    assert_container("5:devices:/kubepods/pod1/cri-containerd-" ID64 ".scope\n", ID12);
    assert_container("6:blkio:/machine.slice/libpod-" ID64 ".scope\n", ID12);
}

static void cgroup_v2_forms(void **state)
{
    (void)state;
    assert_container("0::/system.slice/docker-" ID64 ".scope\n", ID12);
    assert_container("0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod0a1b.slice/"
                     "cri-containerd-" ID64 ".scope\n",
                     ID12);
    assert_container("0::/k8s.io/" ID64 "\n", ID12);
    /* A private cgroup namespace shows nothing: the shim's guess must do. */
    assert_container("0::/\n", NULL);
}

static void not_in_a_container(void **state)
{
    (void)state;
    assert_container("0::/user.slice/user-1000.slice/session-2.scope\n", NULL);
    assert_container("12:pids:/user.slice\n1:name=systemd:/init.scope\n", NULL);
    assert_container("", NULL);
    /* 63 and 65 hex digits, and hex inside a longer word, are not ids. */
    assert_container("0::/docker/" "3f4e5d6c7b8a99887766554433221100ffeeddccbbaa0011223344556677889"
                     "\n",
                     NULL);
    assert_container("0::/docker/" ID64 "0\n", NULL);
    assert_container("0::/docker/x" ID64 "\n", NULL);
    /* An id in the controller list is not a path. */
    assert_container("1:" ID64 ":/\n", NULL);
}

static void upper_case_ids_are_reported_in_lower_case(void **state)
{
    (void)state;
    assert_container("0::/docker/3F4E5D6C7B8A99887766554433221100FFEEDDCCBBAA00112233445566778899\n",
                     ID12);
}

static void nested_containers_report_the_innermost(void **state)
{
    (void)state;
    assert_container("0::/docker/" ID64 "/docker/aaaaaaaaaaaabbbbbbbbbbbbccccccccccccddddddddddddeeeeeeeeeeee0000\n",
                     "aaaaaaaaaaaa");
}

static void the_shim_guess_must_be_hex(void **state)
{
    char id[CONTAINER_ID_SIZE];
    (void)state;
    assert_true(container_from_guess(ID64, 64, id));
    assert_string_equal(id, ID12);
    assert_true(container_from_guess(ID12, 12, id));
    assert_string_equal(id, ID12);
    assert_false(container_from_guess("3f4e5d6c7b8", 11, id));
    assert_false(container_from_guess("my-container", 12, id));
    assert_false(container_from_guess(NULL, 0, id));
}

static void this_process_can_be_looked_up(void **state)
{
    char id[CONTAINER_ID_SIZE];
    (void)state;
    /* Whether or not the tests run in a container, the lookup must not fail badly. */
    bool found = container_of_pid(getpid(), id);
    if (found)
        assert_int_equal(strlen(id), CONTAINER_ID_LEN);
    assert_false(container_of_pid(0, id));
    assert_false(container_of_pid(-5, id));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cgroup_v1_forms),
        cmocka_unit_test(cgroup_v2_forms),
        cmocka_unit_test(not_in_a_container),
        cmocka_unit_test(upper_case_ids_are_reported_in_lower_case),
        cmocka_unit_test(nested_containers_report_the_innermost),
        cmocka_unit_test(the_shim_guess_must_be_hex),
        cmocka_unit_test(this_process_can_be_looked_up),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
