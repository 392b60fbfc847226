package kube

import (
	"errors"
	"fmt"
	"strconv"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// newFake is client-go's fake clientset made to do what the API server
// does and its object tracker does not: an update carrying a stale
// resourceVersion fails with a Conflict, and every write gets a new
// resourceVersion (a create also a uid). Without this, two replicas could
// both take an expired Lease, and the store's optimistic concurrency
// would go untested.
func newFake() *fake.Clientset {
	c := fake.NewSimpleClientset()
	tr := c.Tracker()
	var mu sync.Mutex
	var rv int64
	c.PrependReactor("create", "*", func(a k8stesting.Action) (bool, runtime.Object, error) {
		obj := a.(k8stesting.CreateAction).GetObject().DeepCopyObject()
		m, err := meta.Accessor(obj)
		if err != nil {
			return true, nil, err
		}
		mu.Lock()
		defer mu.Unlock()
		rv++
		m.SetResourceVersion(strconv.FormatInt(rv, 10))
		m.SetUID(types.UID(fmt.Sprintf("uid-%d", rv)))
		if err := tr.Create(a.GetResource(), obj, a.GetNamespace()); err != nil {
			return true, nil, err
		}
		return true, obj.DeepCopyObject(), nil
	})
	c.PrependReactor("update", "*", func(a k8stesting.Action) (bool, runtime.Object, error) {
		obj := a.(k8stesting.UpdateAction).GetObject().DeepCopyObject()
		m, err := meta.Accessor(obj)
		if err != nil {
			return true, nil, err
		}
		mu.Lock()
		defer mu.Unlock()
		cur, err := tr.Get(a.GetResource(), a.GetNamespace(), m.GetName())
		if err != nil {
			return true, nil, err
		}
		cm, _ := meta.Accessor(cur)
		if v := m.GetResourceVersion(); v != "" && v != cm.GetResourceVersion() {
			return true, nil, apierrors.NewConflict(a.GetResource().GroupResource(), m.GetName(),
				errors.New("the object has been modified; please apply your changes to the latest version and try again"))
		}
		rv++
		m.SetResourceVersion(strconv.FormatInt(rv, 10))
		m.SetUID(cm.GetUID())
		if err := tr.Update(a.GetResource(), obj, a.GetNamespace()); err != nil {
			return true, nil, err
		}
		return true, obj.DeepCopyObject(), nil
	})
	return c
}
