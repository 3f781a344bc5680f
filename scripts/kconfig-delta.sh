# SPDX-License-Identifier: GPL-2.0
# Config deltas that only affect our modules.  A fragment holds CONFIG_FOO=y
# lines; each becomes a make variable (for obj-/kvm-$(CONFIG_FOO) lines) and a
# define in KCFLAGS (for IS_ENABLED()/#ifdef), so the kernel the modules load
# into is left untouched.  A "# requires CONFIG_BAR" line names an option the
# running kernel must already have (a Kconfig dependency or select of FOO);
# the build stops if it does not.  A "# when-defined CONFIG_BAZ" line applies
# the whole fragment only if the prepared tree ($TREE) declares BAZ in a
# Kconfig file, so that a tree prepared with part of the series (make
# patches-bisect) builds without the options a later patch introduces.

# TVMM_CONFIG_DELTA=off builds the modules with the kernel's own config
# (every option of the fragment off), which the series must also build with.
kconfig_delta_args() {
	local frag=$1 kconfig=$2 line opt kcflags=
	[ -f "$frag" ] || return 0
	[ "${TVMM_CONFIG_DELTA:-on}" != off ] || return 0
	while read -r line; do
		case $line in
		"# when-defined "CONFIG_*)
			opt=${line#\# when-defined CONFIG_}
			grep -rqx "config $opt" --include='Kconfig*' "$TREE/arch" "$TREE/virt" ||
				return 0
			;;
		esac
	done < "$frag"
	while read -r line; do
		case $line in
		"# when-defined "*) ;;
		"# requires "CONFIG_*)
			opt=${line#\# requires }
			grep -q "^$opt=[ym]" "$kconfig" ||
				die "$frag needs $opt, which $kconfig does not set"
			;;
		CONFIG_*=y)
			opt=${line%=y}
			echo "$opt=y"
			kcflags+=" -D$opt=1"
			;;
		''|'#'*) ;;
		*) die "$frag: unsupported line: $line" ;;
		esac
	done < "$frag"
	[ -z "$kcflags" ] || echo "KCFLAGS=${kcflags# }"
}
