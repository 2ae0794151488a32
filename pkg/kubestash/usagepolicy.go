package kubestash

// Denial says why a BackupConfiguration in namespace ns may not use a BackupStorage or
// RetentionPolicy of namespace own under p, naming the rule (Allows); "" when it may. The
// options and the preview's usagePolicy warning use this one rule.
func (p UsagePolicy) Denial(own, ns string, nsLabels map[string]string) string {
	if p.Allows(own, ns, nsLabels) {
		return ""
	}
	switch p.From {
	case NamespacesFromSame:
		return "its usagePolicy.allowedNamespaces.from is Same: only BackupConfigurations in namespace " + own + " may use it"
	case NamespacesFromSelector:
		return "its usagePolicy.allowedNamespaces.from is Selector and the labels of namespace " + ns + " do not match the selector"
	}
	return "its usagePolicy.allowedNamespaces.from is not set: no namespace may use it"
}
