package scripts

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// maxTrackedSize is the largest file git may track, the template snapshots
// excepted: anything bigger is almost always a build output.
const maxTrackedSize = 1 << 20

// executableMagic are the first bytes of executable binaries: ELF, Mach-O
// (both byte orders, 32 and 64 bit, universal), PE ("MZ").
var executableMagic = [][]byte{
	{0x7f, 'E', 'L', 'F'}, {0xfe, 0xed, 0xfa, 0xce}, {0xfe, 0xed, 0xfa, 0xcf},
	{0xce, 0xfa, 0xed, 0xfe}, {0xcf, 0xfa, 0xed, 0xfe}, {0xca, 0xfe, 0xba, 0xbe}, {'M', 'Z'},
}

// buildOutput says why a tracked file looks like a build output, or "".
func buildOutput(path string, size int64, head []byte) string {
	for _, m := range executableMagic {
		if bytes.HasPrefix(head, m) {
			return "is an executable binary: build outputs must not be tracked (git rm --cached it and add it to .gitignore)"
		}
	}
	snapshot := strings.HasPrefix(path, "test/testdata/snapshot-") && strings.HasSuffix(path, ".template.json")
	if size > maxTrackedSize && !snapshot {
		return fmt.Sprintf("is %d bytes: tracked files stay under 1 MB (a build output? add it to .gitignore)", size)
	}
	return ""
}

func TestNoBuildOutputsTracked(t *testing.T) {
	forEachTrackedFile(t, func(f string, info os.FileInfo, fh *os.File) {
		head := make([]byte, 4)
		n, _ := io.ReadFull(fh, head)
		if why := buildOutput(f, info.Size(), head[:n]); why != "" {
			t.Errorf("%s %s", f, why)
		}
	})
}

func TestBuildOutputRules(t *testing.T) {
	elf := []byte{0x7f, 'E', 'L', 'F'}
	require.Contains(t, buildOutput("services/tenant-manager/tenant-manager", 25206082, elf), "executable binary")
	require.Contains(t, buildOutput("bin/tool.exe", 10, []byte("MZ\x90\x00")), "executable binary")
	require.Contains(t, buildOutput("data/dump.json", maxTrackedSize+1, []byte(`{"a"`)), "tracked files stay under 1 MB")
	require.Equal(t, "", buildOutput("test/testdata/snapshot-domain.template.json", maxTrackedSize+1, []byte(`{"Re`)))
	require.Equal(t, "", buildOutput("scripts/test.sh", 3000, []byte("#!/u")))
}
