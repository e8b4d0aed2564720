package namespace

// Unexported helpers under test from the external test package (which must
// be external: internal/lab imports namespace).
var (
	CheckName  = checkName
	SysctlPath = sysctlPath
)
