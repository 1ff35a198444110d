"""Dashboard pages for users: log in by e-mail, roles are groups.

Only superusers change what a user may do (superuser flag, staff flag, groups, single permissions)
and only superusers edit superusers, so a supervisor with `change_user` cannot promote anyone,
themselves included, or reset an administrator's password.
"""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.utils.translation import gettext_lazy as _

from aftersales.common.admin_site import brand

from .forms import AdminLoginForm
from .models import User

brand(admin.site)
# The dashboard's login counts attempts against the same limits as the portal's (RATELIMIT_LOGIN).
admin.site.login_form = AdminLoginForm

_PRIVILEGE_FIELDS = ("is_staff", "is_superuser", "groups", "user_permissions")


class UserCreateForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email", "full_name")

    def clean_email(self):
        return User.objects.normalize_email(self.cleaned_data["email"]).lower()


class UserEditForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"
        field_classes: dict = {}

    def clean_email(self):
        return User.objects.normalize_email(self.cleaned_data["email"]).lower()


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = UserEditForm
    add_form = UserCreateForm
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Personal info"), {"fields": ("full_name", "phone", "region", "preferred_language")}),
        (_("Permissions"), {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {"classes": ("wide",), "fields": ("email", "full_name", "usable_password", "password1", "password2")},
        ),
    )
    list_display = ("email", "full_name", "roles", "is_staff", "is_active", "last_login", "date_joined")
    list_filter = ("is_staff", "is_superuser", "is_active", "groups")
    search_fields = ("email", "full_name", "phone")
    ordering = ("email",)
    readonly_fields = ("last_login", "date_joined")
    date_hierarchy = "date_joined"

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("groups")

    @admin.display(description=_("roles"))
    def roles(self, obj):
        return ", ".join(sorted(group.name for group in obj.groups.all())) or "—"

    def get_search_results(self, request, queryset, search_term):
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        # Cases are assigned to staff only: the case page's assignee picker offers no customers.
        if request.GET.get("model_name") == "case" and request.GET.get("field_name") == "assignee":
            queryset = queryset.filter(is_staff=True, is_active=True)
        # The ticket desk's "log a contact" form picks the case's customer: customers only.
        if request.GET.get("model_name") == "case" and request.GET.get("field_name") == "customer":
            queryset = queryset.filter(is_staff=False, is_active=True)
        return queryset, may_have_duplicates

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        if obj is not None and not request.user.is_superuser:
            fields = (*fields, *_PRIVILEGE_FIELDS)
        return fields

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_delete_permission(request, obj)
