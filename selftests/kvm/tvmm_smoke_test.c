// SPDX-License-Identifier: GPL-2.0-only
/*
 * tvmm_smoke_test: the KVM modules under test are tvmm's, and a guest runs.
 *
 * tvmm's modules are built out of tree, so every one of them carries the
 * out-of-tree taint flag ('O' in /sys/module/<name>/taint); the distribution's
 * and the pristine in-tree build's modules do not.  On x86-64 the modules are
 * also built with CONFIG_KVM_SW_PROTECTED_VM, so that VM type is offered.
 * Then a guest and its host pass a value back and forth through guest memory
 * and ucalls.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "kvm_util.h"
#include "test_util.h"
#include "ucall_common.h"

#define NR_ROUNDS	16

static uint64_t host_value;

static void guest_code(void)
{
	int i;

	for (i = 0; i < NR_ROUNDS; i++)
		GUEST_SYNC(READ_ONCE(host_value) * 3 + 1);
	GUEST_DONE();
}

static bool module_is_out_of_tree(const char *name)
{
	char path[128], taint[32] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/sys/module/%s/taint", name);
	f = fopen(path, "r");
	if (!f)
		return false;
	if (!fgets(taint, sizeof(taint), f))
		taint[0] = '\0';
	fclose(f);
	return strchr(taint, 'O');
}

static void test_modules_are_ours(void)
{
	static const char * const mods[] = { "kvm", "kvm_amd", "kvm_intel" };
	bool all = true, any = false;
	int i;

	for (i = 0; i < ARRAY_SIZE(mods); i++) {
		char dir[64];
		bool ours;

		snprintf(dir, sizeof(dir), "/sys/module/%s", mods[i]);
		if (access(dir, F_OK))
			continue;
		ours = module_is_out_of_tree(mods[i]);
		ksft_print_msg("%s: %s\n", mods[i], ours ? "tvmm (out of tree)" : "in-tree");
		all &= ours;
		any = true;
	}
	ksft_test_result(any && all, "modules_are_ours\n");
}

static void test_vm_types(void)
{
#ifdef __x86_64__
	ksft_test_result(kvm_check_cap(KVM_CAP_VM_TYPES) & BIT(KVM_X86_SW_PROTECTED_VM),
			 "sw_protected_vm_offered\n");
#else
	ksft_test_result_skip("sw_protected_vm_offered: x86-64 only\n");
#endif
}

static void test_ucall_round_trip(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	struct ucall uc;
	int i;

	vm = vm_create_with_one_vcpu(&vcpu, guest_code);
	for (i = 0; i < NR_ROUNDS; i++) {
		host_value = 1000 + i;
		sync_global_to_guest(vm, host_value);
		vcpu_run(vcpu);
		TEST_ASSERT_EQ(get_ucall(vcpu, &uc), UCALL_SYNC);
		TEST_ASSERT_EQ(uc.args[1], host_value * 3 + 1);
	}
	vcpu_run(vcpu);
	TEST_ASSERT_EQ(get_ucall(vcpu, &uc), UCALL_DONE);
	kvm_vm_free(vm);
	ksft_test_result_pass("ucall_round_trip\n");
}

int main(void)
{
	ksft_print_header();
	ksft_set_plan(3);
	test_modules_are_ours();
	test_vm_types();
	test_ucall_round_trip();
	ksft_finished();
}
