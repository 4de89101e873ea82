package gguf

import (
	"fmt"
	"strings"
)

// FileType is general.file_type: the quantization a whole model was made
// with (llama.cpp's llama_ftype). Mixes such as Q4_K_M keep some tensors at
// other types; Main is the type most weights have.
type FileType uint32

type fileTypeInfo struct {
	Name string
	Main Type
}

// fileTypes follows llama.cpp's enum llama_ftype; gaps are retired values.
var fileTypes = map[FileType]fileTypeInfo{
	0:  {"F32", TypeF32},
	1:  {"F16", TypeF16},
	2:  {"Q4_0", TypeQ4_0},
	3:  {"Q4_1", TypeQ4_1},
	7:  {"Q8_0", TypeQ8_0},
	8:  {"Q5_0", TypeQ5_0},
	9:  {"Q5_1", TypeQ5_1},
	10: {"Q2_K", TypeQ2_K},
	11: {"Q3_K_S", TypeQ3_K},
	12: {"Q3_K_M", TypeQ3_K},
	13: {"Q3_K_L", TypeQ3_K},
	14: {"Q4_K_S", TypeQ4_K},
	15: {"Q4_K_M", TypeQ4_K},
	16: {"Q5_K_S", TypeQ5_K},
	17: {"Q5_K_M", TypeQ5_K},
	18: {"Q6_K", TypeQ6_K},
	19: {"IQ2_XXS", TypeIQ2_XXS},
	20: {"IQ2_XS", TypeIQ2_XS},
	21: {"Q2_K_S", TypeQ2_K},
	22: {"IQ3_XS", TypeIQ3_S},
	23: {"IQ3_XXS", TypeIQ3_XXS},
	24: {"IQ1_S", TypeIQ1_S},
	25: {"IQ4_NL", TypeIQ4_NL},
	26: {"IQ3_S", TypeIQ3_S},
	27: {"IQ3_M", TypeIQ3_S},
	28: {"IQ2_S", TypeIQ2_S},
	29: {"IQ2_M", TypeIQ2_S},
	30: {"IQ4_XS", TypeIQ4_XS},
	31: {"IQ1_M", TypeIQ1_M},
	32: {"BF16", TypeBF16},
	36: {"TQ1_0", TypeTQ1_0},
	37: {"TQ2_0", TypeTQ2_0},
	38: {"MXFP4_MOE", TypeMXFP4},
}

func (ft FileType) String() string {
	if i, ok := fileTypes[ft]; ok {
		return i.Name
	}
	return fmt.Sprintf("filetype(%d)", uint32(ft))
}

// MainType is the tensor type most weights of a file of this kind have.
func (ft FileType) MainType() (Type, bool) {
	i, ok := fileTypes[ft]
	return i.Main, ok
}

// ParseFileType looks a file type up by name ("Q4_K_M", case-insensitive).
func ParseFileType(name string) (FileType, bool) {
	for ft, i := range fileTypes {
		if strings.EqualFold(i.Name, name) {
			return ft, true
		}
	}
	return 0, false
}
